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
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(chainPath)
        } catch {
            throw ConfigurationError(setting: "tls.certificate_chain", message: "not a PEM certificate file: \(chainPath)")
        }
        guard !chain.isEmpty else {
            throw ConfigurationError(setting: "tls.certificate_chain", message: "no certificate in \(chainPath)")
        }
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
            let roots: [NIOSSLCertificate]
            do {
                roots = try NIOSSLCertificate.fromPEMFile(caPath)
            } catch {
                throw ConfigurationError(setting: "tls.client_ca", message: "not a PEM certificate file: \(caPath)")
            }
            guard !roots.isEmpty else {
                throw ConfigurationError(setting: "tls.client_ca", message: "no certificate in \(caPath)")
            }
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
}
