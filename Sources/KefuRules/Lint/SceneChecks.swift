/// `subscribe:` and `scan:` rules whose scene no QR code was made for: nobody can scan them, so the
/// rule never answers. Lint knows only when it is told which codes exist (`kefu lint --store`, from
/// the codes `kefu qr create` recorded).
public enum SceneCheck {
    public static func run(_ rules: CompiledRules, liveScenes: Set<String>) -> [Diagnostic] {
        var found: [Diagnostic] = []
        for rule in rules.spec.rules {
            let (event, scenes): (String, [Located<String>]?) = switch rule.condition {
            case .subscribe(let scenes): ("subscribe", scenes)
            case .scan(let scenes): ("scan", scenes)
            default: ("", nil)
            }
            for scene in scenes ?? [] where !scene.value.contains("*") && !liveScenes.contains(scene.value) {
                found.append(Diagnostic(.warning, "scene-without-qr-code", at: scene.location,
                    "rule '\(rule.id)' answers \(event) with scene '\(scene.value)', but no QR code with that scene exists (or it expired), so no one can scan it",
                    hint: "make one: kefu qr create --scene \(scene.value) --permanent (or --expires 30d); or fix the scene's spelling"))
            }
        }
        return found
    }
}
