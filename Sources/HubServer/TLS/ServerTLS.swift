public import HubConfig
public import NIOSSL

/// Builds the listener's TLS configuration from the `[tls]` settings.
public enum ServerTLS {
    /// - Throws: ``ConfigurationError`` naming the setting whose file cannot be used.
    public static func configuration(_ settings: HubConfiguration.TLS) throws(ConfigurationError) -> TLSConfiguration {
        guard let chainPath = settings.certificateChain else {
            throw ConfigurationError(setting: "tls.certificate_chain", message: "required")
        }
        guard let keyPath = settings.privateKey else {
            throw ConfigurationError(setting: "tls.private_key", message: "required")
        }
        let chain = try Self.certificates(chainPath, setting: "tls.certificate_chain")
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw ConfigurationError(setting: "tls.private_key", message: "not a PEM private key file: \(keyPath)")
        }

        var configuration: TLSConfiguration
        switch settings.clientAuthentication {
        case .off:
            configuration = .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        case .optional, .required:
            guard let caPath = settings.clientCA else {
                throw ConfigurationError(setting: "tls.client_ca", message: "required when tls.client_auth is not off")
            }
            let roots = try Self.certificates(caPath, setting: "tls.client_ca")
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(key),
                trustRoots: .certificates(roots)
            )
            // Client certificates are checked against the CA, not against a host name.
            configuration.certificateVerification =
                settings.clientAuthentication == .required ? .noHostnameVerification : .optionalVerification
        }
        // swift-nio-ssl's server default is TLS 1.0.
        configuration.minimumTLSVersion = settings.minimumVersion == .v1_3 ? .tlsv13 : .tlsv12
        return configuration
    }

    /// TLS for the hub's own outgoing connections (the audit feed): TLS 1.2 or later, the peer
    /// verified against `trustRoots` (a PEM file; the system's when nil), and the hub's
    /// certificate presented as its client identity, for peers that authenticate nodes.
    public static func clientConfiguration(_ settings: HubConfiguration.TLS, trustRoots: String?, setting: String) throws(ConfigurationError)
        -> TLSConfiguration
    {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let trustRoots {
            configuration.trustRoots = .certificates(try Self.certificates(trustRoots, setting: setting))
        }
        if let chainPath = settings.certificateChain, let keyPath = settings.privateKey {
            configuration.certificateChain = try Self.certificates(chainPath, setting: "tls.certificate_chain").map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyPath, format: .pem))
            } catch {
                throw ConfigurationError(setting: "tls.private_key", message: "not a PEM private key file: \(keyPath)")
            }
        }
        return configuration
    }

    /// The certificates of a PEM file, or an error naming `setting`.
    private static func certificates(_ path: String, setting: String) throws(ConfigurationError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw ConfigurationError(setting: setting, message: "not a PEM certificate file: \(path)")
        }
        guard !certificates.isEmpty else {
            throw ConfigurationError(setting: setting, message: "no certificate in \(path)")
        }
        return certificates
    }
}
