//! [`Tasks`]: the long-running tasks of one node, stopped together.

use std::future::Future;

use tokio::task::JoinHandle;

use super::Stop;

/// What a node's task ended with, as the node reports it once stopped.
pub trait TaskOutcome: Send + 'static {
    /// Says, in the log, that the task named `task` failed, if it did.
    fn report(self, task: &'static str);
}

impl TaskOutcome for () {
    fn report(self, _task: &'static str) {}
}

impl<E: std::fmt::Display + Send + 'static> TaskOutcome for Result<(), E> {
    fn report(self, task: &'static str) {
        if let Err(e) = self {
            tracing::error!(task, error = %e, "stopped with an error");
        }
    }
}

/// The tasks a node runs until it stops: each spawned with a name, all given one [`Stop`]
/// signal, all waited for. Dropped without [`run_until`](Self::run_until), the tasks run on.
#[derive(Debug, Default)]
pub struct Tasks {
    stop: Stop,
    running: Vec<(&'static str, JoinHandle<()>)>,
}

impl Tasks {
    /// No tasks yet, the signal not given.
    pub fn new() -> Self {
        Self::default()
    }

    /// The signal every task stops on.
    pub fn stop(&self) -> Stop {
        self.stop.clone()
    }

    /// A future that resolves once the tasks are told to stop: the shutdown argument of
    /// listeners and loops.
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let stop = self.stop.clone();
        async move { stop.stopped().await }
    }

    /// Spawns `task`, named `name` in the log should it fail or panic.
    pub fn spawn<T: TaskOutcome>(
        &mut self,
        name: &'static str,
        task: impl Future<Output = T> + Send + 'static,
    ) {
        let handle = tokio::spawn(async move { task.await.report(name) });
        self.running.push((name, handle));
    }

    /// Waits for `shutdown`, then tells every task to stop and waits until each has.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        shutdown.await;
        tracing::info!("shutting down");
        self.stop.stop();
        for (task, handle) in self.running {
            if let Err(e) = handle.await
                && e.is_panic()
            {
                tracing::error!(task, "panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn every_task_is_told_to_stop_and_waited_for() {
        let ended = Arc::new(AtomicUsize::new(0));
        let mut tasks = Tasks::new();
        for name in ["a", "b", "c"] {
            let (stopped, ended) = (tasks.stopped(), Arc::clone(&ended));
            tasks.spawn(name, async move {
                stopped.await;
                tokio::task::yield_now().await;
                ended.fetch_add(1, Ordering::SeqCst);
            });
        }
        let failing = tasks.stopped();
        tasks.spawn("failing", async move {
            failing.await;
            Err::<(), _>("it failed")
        });
        tasks.run_until(async {}).await;
        assert_eq!(
            ended.load(Ordering::SeqCst),
            3,
            "run_until returned before a task ended"
        );
    }
}
