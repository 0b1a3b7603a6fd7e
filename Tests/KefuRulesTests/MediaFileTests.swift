import Foundation
import Testing
@testable import KefuRules

/// A rule-set folder with media files of each kind, made once per test run.
enum MediaFixture {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0, count: 24)
    static let folder: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-media-\(UInt32.random(in: 0...UInt32.max))")
        let media = dir.appendingPathComponent("media")
        try! FileManager.default.createDirectory(at: media, withIntermediateDirectories: true)
        func write(_ name: String, _ bytes: [UInt8]) { try! Data(bytes).write(to: media.appendingPathComponent(name)) }
        write("chart.png", png)
        write("photo.jpg", [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 1, count: 100))
        write("big.jpg", [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 1, count: 2 * 1024 * 1024 + 1 - 4))
        write("anim.gif", Array("GIF89a".utf8) + Array(repeating: 0, count: 10))
        write("note.amr", Array("#!AMR\n".utf8) + Array(repeating: 0, count: 10))
        write("song.mp3", Array("ID3".utf8) + Array(repeating: 0, count: 10))
        write("clip.mp4", [0, 0, 0, 0x18] + Array("ftypmp42".utf8) + Array(repeating: 0, count: 10))
        write("fake.png", Array("not a picture\n".utf8))
        write("empty.png", [])
        try! FileManager.default.createDirectory(at: media.appendingPathComponent("folder.png"), withIntermediateDirectories: true)
        // A link that leads out of the rule-set folder.
        try? FileManager.default.createSymbolicLink(atPath: media.appendingPathComponent("outside.png").path, withDestinationPath: "/etc/hostname")
        return dir.path
    }()
}

@Suite("Media files in replies")
struct MediaFileTests {
    func codes(_ reply: String) -> [String] {
        diagnostics("default: 好\nrules:\n  - id: a\n    when: {contains: [x]}\n    reply: \(reply)\n", directory: MediaFixture.folder)
            .filter { $0.severity == .error }.map(\.code)
    }

    @Test("each kind takes its formats, by the file's first bytes")
    func formats() {
        for ok in ["{image: {file: media/chart.png}}", "{image: {file: media/photo.jpg}}", "{image: {file: media/anim.gif}}",
                   "{voice: {file: media/note.amr}}", "{voice: {file: media/song.mp3}}", "{video: {file: media/clip.mp4, title: 教程}}",
                   "{image: {file: ./media/../media/chart.png}}"] {
            #expect(codes(ok).isEmpty, "\(ok): \(codes(ok))")
        }
        for wrong in ["{image: {file: media/fake.png}}", "{image: {file: media/empty.png}}", "{image: {file: media/note.amr}}",
                      "{voice: {file: media/clip.mp4}}", "{video: {file: media/chart.png}}"] {
            #expect(codes(wrong) == ["media-file-format"], "\(wrong)")
        }
        #expect(codes("{image: {file: media/folder.png}}") == ["media-file-missing"])
        #expect(codes("{image: {file: /etc/hostname}}") == ["media-file-outside"])
        #expect(codes("{image: {file: media/../../x.png}}") == ["media-file-outside"])
        #expect(codes("{image: {file: media/outside.png}}") == ["media-file-outside"])
        #expect(codes("{image: {file: media/big.jpg}}") == ["media-file-too-large"])
    }

    @Test("file and media_id are two ways to say one thing: one of them, never both")
    func forms() {
        #expect(codes("{image: {file: media/chart.png, media_id: M}}") == ["missing-key"])
        #expect(codes("{video: {title: t}}") == ["missing-key"])
        #expect(codes("{image: {file: ''}}") == ["empty-value"])
        #expect(codes("{image: MEDIA_1}").isEmpty)
        #expect(codes("{random: [{image: {file: media/chart.png}}, {image: {file: media/nothing.png}}]}") == ["media-file-missing"])
    }

    @Test("a file reply renders to a media-file part, previewed by its path")
    func rendered() throws {
        let spec = try RuleSetLoader.parse(files: [(path: "a.yaml", text: "rules:\n  - id: a\n    when: {contains: [x]}\n"
                                                    + "    reply: {video: {file: media/clip.mp4, title: '{{店名}}教程', description: 三分钟}}\nfacts: {店名: 小店}\n")],
                                          directory: MediaFixture.folder)
        let rules = try RuleSetCompiler.compile(spec)
        var generator = SeededGenerator(seed: 1)
        let rendered = rules.rules[0].reply!.render(captures: [:], facts: rules.facts, using: &generator)
        #expect(rendered == .mediaFile(MediaFile(kind: .video, path: "media/clip.mp4", title: "小店教程", description: "三分钟")))
        #expect(rendered.preview == "[video media/clip.mp4]")
    }

    @Test("Rules/shop's size chart is a real PNG inside the folder, and its rules reply with it")
    func shop() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let rules = try RuleSetCompiler.compile(directory: root.appendingPathComponent("Rules/shop").path)
        let files = MediaFileChecks.files(rules.spec).map(\.path.value)
        #expect(files == ["media/size-chart.png", "media/size-chart.png"])
        var generator = SeededGenerator(seed: 1)
        let winner = try #require(rules.match(.event(.click(key: "MENU_SIZE_CHART"))).winner)
        #expect(rules.rules[winner.rule].reply?.preview(captures: [:], using: &generator) == "[image media/size-chart.png]")
    }
}
