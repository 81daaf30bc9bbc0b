public import NIOCore

/// MLLP framing (HL7 v2 Minimal Lower Layer Protocol): a message is `<VT> bytes <FS><CR>`.
/// Bytes before a start block are ignored, as the protocol allows; a frame larger than
/// `maximumBytes` closes the connection.
public struct MLLPFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    static let startBlock: UInt8 = 0x0B
    static let endBlock: UInt8 = 0x1C
    static let carriageReturn: UInt8 = 0x0D

    public struct FrameTooLarge: Error {}

    let maximumBytes: Int

    public init(maximumBytes: Int) {
        self.maximumBytes = maximumBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let start = buffer.readableBytesView.firstIndex(of: Self.startBlock) else {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        buffer.moveReaderIndex(to: start)
        let view = buffer.readableBytesView
        var index = view.startIndex + 1
        while index < view.endIndex {
            if view[index] == Self.endBlock, index + 1 < view.endIndex, view[index + 1] == Self.carriageReturn {
                let length = index - (view.startIndex + 1)
                buffer.moveReaderIndex(forwardBy: 1)
                let frame = buffer.readSlice(length: length)!
                buffer.moveReaderIndex(forwardBy: 2)
                context.fireChannelRead(Self.wrapInboundOut(frame))
                return .continue
            }
            index += 1
        }
        if buffer.readableBytes > self.maximumBytes + 3 { throw FrameTooLarge() }
        return .needMoreData
    }

    /// `message` framed for sending.
    public static func framed(_ message: [UInt8], allocator: ByteBufferAllocator = .init()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: message.count + 3)
        buffer.writeInteger(Self.startBlock)
        buffer.writeBytes(message)
        buffer.writeInteger(Self.endBlock)
        buffer.writeInteger(Self.carriageReturn)
        return buffer
    }
}
