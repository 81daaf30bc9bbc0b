import HummingbirdCore
import Logging
import NIOCore

/// Serves each connection's requests — routing, middleware, handlers — on the event loop that owns
/// the connection, instead of on Swift's global executor.
///
/// Hummingbird runs a connection's handling as a task on the global executor: every request then
/// crosses between threads on its way in and its response's way out (the profiles of issue #16:
/// a tenth of a read's CPU in context switches). With the loop as the task's executor preference,
/// reading the request, the handler's own work and writing the response stay on one thread;
/// only what runs elsewhere (a database connection's loop, an actor with its own executor) hops.
/// Nothing blocks a loop that did not block a pool thread before: the handlers never wait
/// synchronously.
struct EventLoopBoundChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        self.base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await self.base.handle(value: value, logger: logger)
        }
    }
}

/// A NIO event loop as a Swift `TaskExecutor`: jobs run on the loop's thread, in its order.
final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
