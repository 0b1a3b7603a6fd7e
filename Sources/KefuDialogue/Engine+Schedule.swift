import KefuRules

/// A flow that is done cancels the scheduled messages its `cancel_schedule:` names, then schedules
/// its own (`schedule:`), each at its time: so a rescheduled booking's old reminders go and the new
/// ones come, in one turn.
extension TurnState {
    func scheduleEffects(_ flow: FlowSpec, _ progress: FlowProgress) -> [Effect] {
        var effects = flow.cancelSchedule.map { Effect.cancelScheduled(flow: $0.value) }
        for entry in flow.schedule {
            let due: Int64, notAfter: Int64?
            switch entry.anchor {
            case .before(let slot):
                guard let value = progress.slots[slot], let at = LocalTime(slotValue: value) else { continue }
                let moment = at.unixTime(utcOffset: rules.settings.utcOffset)
                (due, notAfter) = (moment - entry.offset, moment)
            case .afterDone:
                (due, notAfter) = (now + entry.offset, nil)
            }
            // Its time is already past (an appointment sooner than the reminder): nothing to send.
            guard due > now else { continue }
            let content: OutboundContent
            switch entry.message {
            case .text(let text):
                content = .message(.text(text.render(progress.slots, facts: facts)))
            case .template(let template):
                content = .template(RenderedTemplate(
                    templateID: template.templateID, url: template.url?.render(progress.slots, facts: facts),
                    miniprogramAppID: template.miniprogram?.appID, miniprogramPagePath: template.miniprogram?.pagePath,
                    data: template.data.map { .init(key: $0.key, value: $0.value.render(progress.slots, facts: facts)) },
                    // One key per user, flow, entry and time: a retry of the same turn makes the same key.
                    clientMessageID: "kefu-\(flow.name)-\(entry.id)-\(due)-\(session.user)".stableDigest))
            }
            effects.append(.schedule(OutboxMessage(user: session.user, kind: .scheduled, due: due, notAfter: notAfter,
                                                   flow: flow.name, name: entry.id, content: content)))
        }
        return effects
    }
}

extension String {
    /// 16 hex digits of FNV-1a: short, stable across runs and platforms (client_msg_id is at most 64 bytes).
    var stableDigest: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
