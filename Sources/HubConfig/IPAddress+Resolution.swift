import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension IPAddress {
    /// The addresses `host` resolves to (the system resolver, off the cooperative pool); an
    /// empty list when it does not resolve.
    public static func resolve(_ host: String) async -> [IPAddress] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var results: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &results)
                guard status == 0, let first = results else {
                    continuation.resume(returning: [])
                    return
                }
                defer { freeaddrinfo(first) }
                var addresses: [IPAddress] = []
                var next: UnsafeMutablePointer<addrinfo>? = first
                while let entry = next {
                    if let socket = entry.pointee.ai_addr {
                        switch Int32(socket.pointee.sa_family) {
                        case AF_INET:
                            var address = socket.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                            if let ip = Self(bytes: withUnsafeBytes(of: &address) { Array($0) }) { addresses.append(ip) }
                        case AF_INET6:
                            var address = socket.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                            if let ip = Self(bytes: withUnsafeBytes(of: &address) { Array($0) }) { addresses.append(ip) }
                        default:
                            break
                        }
                    }
                    next = entry.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }
}
