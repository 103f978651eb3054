namespace EdgeStream.Uplink.Mqtt;

/// <summary>A token bucket over payload bytes: keeps the uplink under a cap on metered links.</summary>
internal sealed class BandwidthLimiter(long bytesPerSecond, TimeProvider time)
{
    private readonly double _capacity = Math.Max(bytesPerSecond, 64 * 1024);
    private double _tokens = Math.Max(bytesPerSecond, 64 * 1024);
    private long _last = time.GetTimestamp();

    /// <summary>Waits until <paramref name="bytes"/> may be sent.</summary>
    public async ValueTask WaitAsync(int bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            var now = time.GetTimestamp();
            _tokens = Math.Min(_capacity, _tokens + (time.GetElapsedTime(_last, now).TotalSeconds * bytesPerSecond));
            _last = now;
            if (_tokens >= Math.Min(bytes, _capacity))
            {
                _tokens -= bytes;
                return;
            }

            var wait = TimeSpan.FromSeconds((Math.Min(bytes, _capacity) - _tokens) / bytesPerSecond);
            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
