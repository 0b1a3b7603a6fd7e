import FuzzSupport
import KefuWeChat

/// (a) The XML reader and the typed decode, on the bytes of a plaintext push.
/// A message that decodes is written back with `xml()`; that must decode, and write the same bytes
/// again (the writer drops what XML cannot carry, so the first writing may differ from the input).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzXML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    do {
        _ = try XMLReader().parse(bytes)
    } catch {
        _ = error.description
    }
    let message: InboundMessage
    do {
        message = try InboundMessage(xml: bytes)
    } catch {
        _ = error.description
        return 0
    }
    // The writer drops what XML 1.0 cannot carry (C0 controls, U+FFFE, U+FFFF), which the reader lets
    // through; dropping one can change what the message is (its MsgType), so stability is not asked then.
    guard !carriesUnwritable(message.fields) else { return 0 }
    let written = message.xml()
    do {
        let again = try InboundMessage(xml: written).xml()
        // fatalError, not precondition: -O drops a precondition's message.
        if again != written {
            fatalError("""
                writing is not stable:
                \(String(decoding: written, as: UTF8.self))
                \(String(decoding: again, as: UTF8.self))
                """)
        }
    } catch {
        fatalError("a decoded message, written back, does not decode: \(error)\n\(String(decoding: written, as: UTF8.self))")
    }
    return 0
}

func carriesUnwritable(_ tree: XMLTree) -> Bool {
    func unwritable(_ text: String) -> Bool {
        text.unicodeScalars.contains { ($0.value < 0x20 && $0.value != 0x09 && $0.value != 0x0A && $0.value != 0x0D) || $0.value == 0xFFFE || $0.value == 0xFFFF }
    }
    return unwritable(tree.name) || unwritable(tree.text) || tree.children.contains(where: carriesUnwritable)
}
