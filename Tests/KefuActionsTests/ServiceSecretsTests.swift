import Foundation
import KefuActions
import KefuRules
import Testing

@Suite struct ServiceSecretsTests {
    static let services = [
        Fixture.service("erp", base: "https://erp.example.com", auth: .bearer(secret: "ERP_TOKEN")),
        Fixture.service("crm", base: "https://crm.example.com", auth: .header(name: "X-Api-Key", secret: "CRM_KEY")),
        Fixture.service("his", base: "https://his.example.com", auth: .basic(user: "kefu", secret: "HIS_PASSWORD")),
    ]

    /// A temporary folder, removed afterwards.
    private func withFolder(_ body: (URL) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(folder)
    }

    private func problems(_ environment: [String: String], services: [ServiceSpec] = services) -> ServiceSecretsError? {
        do {
            _ = try ServiceSecrets.resolve(for: services, environment: environment)
            return nil
        } catch {
            return error
        }
    }

    @Test func resolvesFromVariablesAndFiles() async throws {
        var secrets: ServiceSecrets?
        try withFolder { folder in
            let file = folder.appendingPathComponent("crm-key")
            try Data((Fixture.apiKey + "\n").utf8).write(to: file)
            var environment = Fixture.environment
            environment["KEFU_SECRET_CRM_KEY"] = nil
            environment["KEFU_SECRET_CRM_KEY_FILE"] = file.path
            secrets = try ServiceSecrets.resolve(for: Self.services, environment: environment)
        }
        let resolved = try #require(secrets)
        #expect(resolved.names == ["CRM_KEY", "ERP_TOKEN", "HIS_PASSWORD", "SIGNING_KEY"])
        #expect(!resolved.isRotating("SIGNING_KEY"))
        // The file's value is used without its newline: the header sent is exactly the key (on the wire: ServiceClientTests).
        let server = try await RecordingServer()
        let crm = Fixture.service("crm", base: server.base, auth: .header(name: "X-Api-Key", secret: "CRM_KEY"))
        let client = ServiceClient(services: [crm], secrets: resolved)
        _ = await client.send(Fixture.request("crm", .get, "/x"), attempt: 1)
        try await client.shutdown()
        await server.stop()
        #expect(server.requests.first?.headers["x-api-key"] == Fixture.apiKey)
    }

    @Test func everyMissingSecretIsListedWithItsServices() throws {
        let shared = [
            Fixture.service("erp", base: "https://erp.example.com", auth: .bearer(secret: "ERP_TOKEN")),
            Fixture.service("erp2", base: "https://erp2.example.com", auth: .bearer(secret: "ERP_TOKEN")),
            Fixture.service("crm", base: "https://crm.example.com", auth: .header(name: "X-Api-Key", secret: "CRM_KEY")),
        ]
        let error = try #require(problems(["KEFU_SECRET_CRM_KEY": Fixture.apiKey], services: shared))
        #expect(error.problems == [
            .missing(variable: "KEFU_SECRET_ERP_TOKEN", services: ["erp", "erp2"]),
            .missing(variable: "KEFU_SECRET_SIGNING_KEY", services: ["erp", "erp2", "crm"]),
        ])
        #expect(error.description.contains("KEFU_SECRET_ERP_TOKEN is not set (needed by services erp, erp2)"))
        #expect(error.description.contains("KEFU_SECRET_SIGNING_KEY is not set (needed by services erp, erp2, crm)"))
        #expect(error.description.contains("KEFU_SECRET_ERP_TOKEN_FILE"))
    }

    @Test func problemsNeverShowAValue() throws {
        try withFolder { folder in
            let missing = folder.appendingPathComponent("no-such-file").path
            let unreadable = folder.appendingPathComponent("dir-not-file")
            try FileManager.default.createDirectory(at: unreadable, withIntermediateDirectories: true)
            let environment = [
                "KEFU_SECRET_ERP_TOKEN": Fixture.token, "KEFU_SECRET_ERP_TOKEN_FILE": missing,       // both set
                "KEFU_SECRET_CRM_KEY_FILE": missing,                                                  // no such file
                "KEFU_SECRET_HIS_PASSWORD_FILE": unreadable.path,                                     // cannot be read
                "KEFU_SECRET_SIGNING_KEY": "short-key-12345",                                         // 15 bytes
                "KEFU_SECRET_SIGNING_KEY_PREVIOUS": "whsec_" + Fixture.password + "!!",              // not base64
            ]
            let error = try #require(problems(environment))
            #expect(error.problems.count == 4)
            #expect(error.problems.contains(.both(variable: "KEFU_SECRET_ERP_TOKEN", fileVariable: "KEFU_SECRET_ERP_TOKEN_FILE")))
            #expect(error.problems.contains(.unreadable(variable: "KEFU_SECRET_CRM_KEY_FILE", path: missing, reason: "there is no such file")))
            #expect(error.problems.contains { if case .unreadable("KEFU_SECRET_HIS_PASSWORD_FILE", unreadable.path, _) = $0 { true } else { false } })
            #expect(error.description.contains("KEFU_SECRET_SIGNING_KEY is 15 bytes long; a signing key needs at least 16"))
            for value in [Fixture.token, "short-key-12345", Fixture.password] {
                #expect(!error.description.contains(value))
                #expect(!String(reflecting: error).contains(value))
                #expect(!"\(error.problems)".contains(value))
            }

            // Once the current key is usable, the previous one is checked too.
            var fixed = environment
            fixed["KEFU_SECRET_SIGNING_KEY"] = Fixture.signingKey
            let previous = try #require(problems(fixed))
            #expect(previous.description.contains("KEFU_SECRET_SIGNING_KEY_PREVIOUS starts with whsec_ but what follows is not valid base64"))
            #expect(!previous.description.contains(Fixture.password))
        }
    }

    @Test func emptyValuesAndControlCharactersAreRefused() throws {
        try withFolder { folder in
            let empty = folder.appendingPathComponent("empty")
            try Data("\n".utf8).write(to: empty)
            var environment = Fixture.environment
            environment["KEFU_SECRET_ERP_TOKEN"] = ""
            environment["KEFU_SECRET_CRM_KEY"] = nil
            environment["KEFU_SECRET_CRM_KEY_FILE"] = empty.path
            environment["KEFU_SECRET_HIS_PASSWORD"] = "pass\r\nX-Evil: 1"
            let error = try #require(problems(environment))
            #expect(error.problems.contains(.empty(variable: "KEFU_SECRET_ERP_TOKEN")))
            #expect(error.problems.contains(.empty(variable: "KEFU_SECRET_CRM_KEY_FILE")))
            #expect(error.description.contains("KEFU_SECRET_HIS_PASSWORD contains a control character (U+000D)"))
            #expect(!error.description.contains("X-Evil"))
        }
    }

    @Test func signingKeyFormats() throws {
        let raw = Data((0..<32).map { UInt8($0) })
        let whsec = try SigningKey("whsec_" + raw.base64EncodedString())
        // whsec_ means the decoded bytes (docs/signing.md's worked example checks the same key both ways).
        let content = Array("x".utf8)
        #expect(RequestSigner.signature(content, key: whsec) != RequestSigner.signature(content, key: try SigningKey(raw.base64EncodedString())))
        #expect(throws: SigningKey.FormatError.tooShort(bytes: 8)) { try SigningKey("whsec_" + Data(count: 8).base64EncodedString()) }
        #expect(throws: SigningKey.FormatError.tooShort(bytes: 5)) { try SigningKey("short") }
        #expect(throws: SigningKey.FormatError.notBase64) { try SigningKey("whsec_not base64!") }
        #expect(try SigningKey("sixteen-bytes-ok").description == "SigningKey(…redacted…)")
        #expect(String(reflecting: whsec) == "SigningKey(…redacted…)")
    }

    @Test func descriptionsNameSecretsButNeverShowThem() async throws {
        var environment = Fixture.environment
        environment["KEFU_SECRET_SIGNING_KEY_PREVIOUS"] = Fixture.previousKey
        let secrets = try ServiceSecrets.resolve(for: Self.services, environment: environment)
        #expect(secrets.isRotating("SIGNING_KEY"))
        let texts = [secrets.description, secrets.debugDescription, String(describing: secrets), String(reflecting: secrets), "\(secrets)"]
        for text in texts {
            #expect(text == "ServiceSecrets(CRM_KEY, ERP_TOKEN, HIS_PASSWORD, SIGNING_KEY, SIGNING_KEY_PREVIOUS)")
        }
        let client = ServiceClient(services: Self.services, secrets: secrets)
        for text in texts + [String(reflecting: client)] {
            for value in [Fixture.token, Fixture.apiKey, Fixture.password, Fixture.signingKey, Fixture.previousKey] {
                #expect(!text.contains(value))
            }
        }
        try await client.shutdown()
    }
}
