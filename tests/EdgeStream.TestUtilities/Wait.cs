namespace EdgeStream.TestUtilities;

/// <summary>Polls a condition until it holds, failing the test with what it waited for.</summary>
public static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after <paramref name="seconds"/>.</summary>
    public static async Task Until(Func<bool> condition, string what, int seconds = 60, Func<string>? detail = null)
    {
        if (!await PollAsync(() => Task.FromResult(condition()), TimeSpan.FromSeconds(seconds)))
        {
            Assert.Fail($"Timed out after {seconds} s waiting for: {what}. {detail?.Invoke()}");
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="describe"/> after a generous timeout.</summary>
    public static async Task UntilAsync(Func<bool> condition, Func<string> describe, int timeoutSeconds = 30)
    {
        if (!await PollAsync(() => Task.FromResult(condition()), TimeSpan.FromSeconds(timeoutSeconds)))
        {
            Assert.Fail($"Condition not met within {timeoutSeconds} s: {describe()}");
        }
    }

    /// <summary>Checks <paramref name="condition"/> every 20 ms; false when it still does not hold after <paramref name="timeout"/>.</summary>
    public static async Task<bool> PollAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }
}
