namespace EdgeStream.TestUtilities;

/// <summary>
/// Polls an in-memory condition every 20 ms until it holds, failing the test with what it waited for.
/// For probes over HTTP or sockets use <see cref="Eventually"/>, which backs off to 250 ms and rides out
/// connection errors.
/// </summary>
public static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after <paramref name="seconds"/>.</summary>
    public static async Task Until(Func<bool> condition, string what, int seconds = 60, Func<string>? detail = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {seconds} s waiting for: {what}. {detail?.Invoke()}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="describe"/> after a generous timeout.</summary>
    public static Task UntilAsync(Func<bool> condition, Func<string> describe, int timeoutSeconds = 30) =>
        Until(condition, "the condition", timeoutSeconds, describe);
}
