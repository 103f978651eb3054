namespace EdgeStream.Tracking;

/// <summary>
/// Tells readers in the same process that the sink committed a batch, so that a live feed answers at once
/// instead of at its next poll. Readers in another process (the <c>api</c> role) keep polling.
/// </summary>
public sealed class CommitSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next commit after it was taken.</summary>
    public Task Next => Volatile.Read(ref _next).Task;

    /// <summary>A batch was committed: wakes everyone waiting on <see cref="Next"/>.</summary>
    public void Pulse() =>
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits, at most <paramref name="timeout"/>, for <paramref name="next"/> (taken from <see cref="Next"/> before reading, so that no commit slips between).</summary>
    public static async Task WaitAsync(Task next, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await next.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }
}
