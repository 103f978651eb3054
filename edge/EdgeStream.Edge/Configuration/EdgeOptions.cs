using System.Net;
using EdgeStream.Outbox;
using EdgeStream.Uplink.Mqtt;
using EdgeStream.Windowing;

namespace EdgeStream.Edge.Configuration;

/// <summary>Everything the daemon's <c>run</c> command needs, validated, with the parts each component takes.</summary>
public sealed record EdgeOptions
{
    /// <summary>The gateway id. Key <c>gateway-id</c>.</summary>
    public required string GatewayId { get; init; }

    /// <summary>Reader URIs, in order. Key <c>reader</c> (repeatable).</summary>
    public required IReadOnlyList<string> Readers { get; init; }

    /// <summary>Where the outbox lives. Key <c>data-dir</c>.</summary>
    public required string DataDir { get; init; }

    /// <summary>Loopback endpoint of <c>/healthz</c> and <c>/metrics</c>. Key <c>http</c>.</summary>
    public required IPEndPoint Http { get; init; }

    /// <summary>Outbox settings.</summary>
    public required OutboxOptions Outbox { get; init; }

    /// <summary>Uplink settings.</summary>
    public required UplinkOptions Uplink { get; init; }

    /// <summary>Windowing (zones, dedupe, arbitration), or null to upload raw reads unwindowed. Key <c>windowing</c> (config file only).</summary>
    public WindowingOptions? Windowing { get; init; }
}
