namespace EdgeStream.Contracts;

/// <summary>Conversions for event times, which are microseconds since the Unix epoch in UTC everywhere.</summary>
public static class EventTimes
{
    /// <summary>Converts microseconds since the Unix epoch to a UTC <see cref="DateTimeOffset"/>.</summary>
    public static DateTimeOffset FromUnixMicroseconds(long us) =>
        DateTimeOffset.UnixEpoch.AddTicks(us * TimeSpan.TicksPerMicrosecond);

    /// <summary>Converts a time to microseconds since the Unix epoch.</summary>
    public static long ToUnixMicroseconds(DateTimeOffset t) =>
        (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    /// <summary>The current time as microseconds since the Unix epoch.</summary>
    public static long NowUs(TimeProvider? clock = null) => ToUnixMicroseconds((clock ?? TimeProvider.System).GetUtcNow());

    /// <summary>ISO-8601 UTC with microseconds, e.g. <c>2026-11-24T08:00:00.123456Z</c>.</summary>
    public static string ToIso(long us) => FromUnixMicroseconds(us).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'");
}
