namespace EdgeStream.TestUtilities;

/// <summary>Waits for a condition instead of sleeping for a fixed time.</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="probe"/> until it returns a non-null value, or fails after <paramref name="timeout"/> with <paramref name="what"/> and the last value seen.</summary>
    public static async Task<T> GetAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
        where T : class
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        var delay = TimeSpan.FromMilliseconds(20);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await probe() is { } value)
                {
                    return value;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                last = ex;
            }

            await Task.Delay(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }

        throw new TimeoutException($"Timed out after {timeout} waiting for {what}." + (last is null ? string.Empty : $" Last error: {last.Message}"));
    }

    /// <summary>Polls until <paramref name="condition"/> holds.</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        GetAsync<object>(async () => await condition() ? new object() : null, timeout, what);
}
