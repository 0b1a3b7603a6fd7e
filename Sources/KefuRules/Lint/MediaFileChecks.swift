import Foundation

/// Media files named in replies (`image: {file: media/size-chart.png}`): inside the rule-set folder,
/// there, of a format WeChat takes for that kind (by the file's first bytes, not its name), and
/// not larger than temporary media may be (../shared/spec/wechat-api.md §6). Errors, reported at
/// compile time: a reply whose file cannot be uploaded would reach no one.
enum MediaFileChecks {
    /// Temporary media limits. The image limit is 2 MB: WeChat's page says 10 MB in one place and
    /// 2 MB in its 注意事项 (older copies 1–2 MB); 2 MB is what every version accepts.
    static func maxBytes(_ kind: MediaFile.Kind) -> Int {
        switch kind {
        case .image, .voice: 2 * 1024 * 1024
        case .video: 10 * 1024 * 1024
        }
    }

    static func formats(_ kind: MediaFile.Kind) -> String {
        switch kind {
        case .image: "PNG, JPEG or GIF"
        case .voice: "AMR or MP3"
        case .video: "MP4"
        }
    }

    /// Every media file of the rule set's replies, in rule order: rules, then default and follow
    /// replies, then flows' done replies.
    static func files(_ spec: RuleSetSpec) -> [RuleReply.MediaFileReply] {
        spec.rules.flatMap { $0.reply?.mediaFiles ?? [] }
            + [spec.defaultReply, spec.subscribeReply].compactMap { $0?.value }.flatMap(\.mediaFiles)
            + spec.flows.flatMap(\.done.value.mediaFiles)
    }

    static func errors(_ spec: RuleSetSpec) -> [Diagnostic] {
        files(spec).compactMap { check($0, in: spec.directory) }
    }

    static func check(_ file: RuleReply.MediaFileReply, in directory: String?) -> Diagnostic? {
        let path = file.path.value, at = file.path.location, kind = file.kind.rawValue
        guard let relative = insidePath(path) else {
            return Diagnostic(.error, "media-file-outside", at: at, "the \(kind) file '\(path)' is outside the rule-set folder",
                              hint: "put the file inside the rule-set folder (e.g. media/) and write its path from there, without a leading / or ..")
        }
        guard let directory else { return nil }  // files given in memory: the path is all there is to check
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        let url = root.appendingPathComponent(relative)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return Diagnostic(.error, "media-file-missing", at: at,
                              "the \(kind) file '\(path)' is not in the rule-set folder (looked for \(url.path))",
                              hint: "copy the file there, or correct the path (it is relative to the rule-set folder and case-sensitive)")
        }
        // A symbolic link may lead out of the folder: what is uploaded must be the rule set's own file.
        let real = url.resolvingSymlinksInPath().path, realRoot = root.resolvingSymlinksInPath().path
        guard real.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/") else {
            return Diagnostic(.error, "media-file-outside", at: at, "the \(kind) file '\(path)' links to \(real), outside the rule-set folder",
                              hint: "copy the file into the rule-set folder instead of linking to it")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            return Diagnostic(.error, "media-file-missing", at: at, "the \(kind) file '\(path)' cannot be read", hint: "check the file's permissions")
        }
        let head = [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
        try? handle.close()
        if size == 0 || head.isEmpty {
            return Diagnostic(.error, "media-file-format", at: at, "the \(kind) file '\(path)' is empty",
                              hint: "save the \(kind) again (\(formats(file.kind)))")
        }
        guard let format = Self.format(of: head), Self.accepts(file.kind, format) else {
            let found = Self.format(of: head).map { "\([.amr, .mp3, .mp4].contains($0) ? "an" : "a") \($0.rawValue) file" } ?? "not a format WeChat takes"
            return Diagnostic(.error, "media-file-format", at: at,
                              "the \(kind) file '\(path)' is \(found); WeChat takes \(kind == "image" ? "images" : kind) as \(formats(file.kind))",
                              hint: "convert it to \(formats(file.kind)) (the format is read from the file's first bytes, not its name)")
        }
        let limit = maxBytes(file.kind)
        if size > limit {
            return Diagnostic(.error, "media-file-too-large", at: at,
                              "the \(kind) file '\(path)' is \(megabytes(size)); WeChat takes \(kind == "image" ? "images" : kind) of at most \(limit / 1024 / 1024) MB",
                              hint: file.kind == .video ? "shorten or compress the video" : file.kind == .voice ? "shorten it (at most 60 s) or use a lower bit rate" : "make it smaller: fewer pixels, or JPEG instead of PNG for photos")
        }
        return nil
    }

    /// The path with `.` removed, if it stays inside the folder (not absolute, no `..` leading out).
    static func insidePath(_ path: String) -> String? {
        guard !path.hasPrefix("/"), !path.hasPrefix("~"), !path.contains("\\") else { return nil }
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." {
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    enum Format: String { case png = "PNG", jpeg = "JPEG", gif = "GIF", amr = "AMR", mp3 = "MP3", mp4 = "MP4" }

    /// The format by its magic bytes.
    static func format(of head: [UInt8]) -> Format? {
        func starts(_ bytes: [UInt8]) -> Bool { head.count >= bytes.count && Array(head.prefix(bytes.count)) == bytes }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("#!AMR".utf8)) { return .amr }
        if starts(Array("ID3".utf8)) || (head.count >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) { return .mp3 }
        if head.count >= 8, Array(head[4..<8]) == Array("ftyp".utf8) { return .mp4 }
        return nil
    }

    static func accepts(_ kind: MediaFile.Kind, _ format: Format) -> Bool {
        switch kind {
        case .image: [.png, .jpeg, .gif].contains(format)
        case .voice: [.amr, .mp3].contains(format)
        case .video: format == .mp4
        }
    }

    static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + 512 * 1024) / (1024 * 1024)
        return "\(tenths / 10).\(tenths % 10) MB (\(bytes) bytes)"
    }
}

extension CompiledRules {
    /// The media files the rule set's replies name (each once), which `kefu serve` uploads.
    public var mediaFiles: [MediaFile] {
        var seen: Set<String> = []
        return MediaFileChecks.files(spec).compactMap { file in
            guard seen.insert(file.path.value).inserted else { return nil }
            return MediaFile(kind: file.kind, path: file.path.value)
        }
    }

    /// The file's bytes, from the rule-set folder (nil: not there, or outside it).
    public func contents(of file: MediaFile) -> [UInt8]? {
        guard let directory = spec.directory, let relative = MediaFileChecks.insidePath(file.path) else { return nil }
        let url = URL(fileURLWithPath: directory).appendingPathComponent(relative)
        return FileManager.default.contents(atPath: url.path).map { Array($0) }
    }
}
