using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeStream.Contracts;

/// <summary>
/// What a gateway says about itself on <c>edgestream/v1/gw/{id}/status</c> (retained; the MQTT will
/// message carries the same record with <see cref="Online"/> false). JSON, because it is small, rare
/// and read by people and tools.
/// </summary>
public sealed record GatewayStatus
{
    /// <summary>The gateway.</summary>
    public required string GatewayId { get; init; }

    /// <summary>True while the daemon is connected; false in the will message and on clean shutdown.</summary>
    public required bool Online { get; init; }

    /// <summary>When the status was written, µs since the Unix epoch (gateway clock).</summary>
    public long TimeUs { get; init; }

    /// <summary>Reads waiting in the durable buffer.</summary>
    public long BufferReads { get; init; }

    /// <summary>Bytes used by the durable buffer.</summary>
    public long BufferBytes { get; init; }

    /// <summary>
    /// The gateway's low watermark, µs since the Unix epoch (gateway clock): it has sent every event older
    /// than this, and holds none that it will send later. 0 when it cannot say (batches wait for the
    /// broker). The cloud turns it into marks that move event time at a quiet site.
    /// </summary>
    public long WatermarkUs { get; init; }

    /// <summary>The fleet configuration version the gateway applied, if any.</summary>
    public string? ConfigVersion { get; init; }

    /// <summary>The daemon's software version.</summary>
    public string? SoftwareVersion { get; init; }

    /// <summary>Serialises to UTF-8 JSON.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ContractsJsonContext.Default.GatewayStatus);

    /// <summary>Parses UTF-8 JSON; false (never an exception) for anything that is not a status record.</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out GatewayStatus? status)
    {
        status = null;
        try
        {
            status = JsonSerializer.Deserialize(json, ContractsJsonContext.Default.GatewayStatus);
            return status is not null && Topics.IsValidGatewayId(status.GatewayId);
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>Source-generated JSON metadata for the contracts that travel as JSON.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GatewayStatus))]
internal sealed partial class ContractsJsonContext : JsonSerializerContext;
