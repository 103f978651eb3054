using System.Diagnostics.CodeAnalysis;

namespace EdgeStream.Contracts;

/// <summary>What a gateway topic carries.</summary>
public enum TopicKind
{
    /// <summary>Batches of reads, edge → cloud.</summary>
    Reads,

    /// <summary>Batches of presence events, edge → cloud.</summary>
    Events,

    /// <summary>Gateway status (retained; the will message says offline), edge → cloud.</summary>
    Status,

    /// <summary>Versioned fleet configuration, cloud → edge (retained).</summary>
    Config,

    /// <summary>What configuration the gateway applied or rolled back, edge → cloud.</summary>
    ConfigApplied,
}

/// <summary>
/// The MQTT topic scheme: <c>edgestream/v1/gw/{gatewayId}/{reads|events|status|config|config/applied}</c>.
/// A gateway may publish only under its own id; the version segment changes only with an
/// incompatible change of the scheme.
/// </summary>
public static class Topics
{
    /// <summary>Prefix of every topic of this scheme version.</summary>
    public const string Prefix = "edgestream/v1/gw/";

    /// <summary>Subscription filter for everything every gateway publishes.</summary>
    public const string AllGateways = "edgestream/v1/gw/+/#";

    /// <summary>Longest gateway id accepted.</summary>
    public const int MaxGatewayIdLength = 64;

    /// <summary>The topic of <paramref name="kind"/> for <paramref name="gatewayId"/>.</summary>
    public static string For(string gatewayId, TopicKind kind)
    {
        ValidateGatewayId(gatewayId);
        return Prefix + gatewayId + "/" + Suffix(kind);
    }

    /// <summary>The topic a batch of <paramref name="dataClass"/> is published on.</summary>
    public static string ForBatch(string gatewayId, DataClass dataClass) =>
        For(gatewayId, dataClass == DataClass.Presence ? TopicKind.Events : TopicKind.Reads);

    /// <summary>Splits a topic of this scheme into gateway id and kind; false for any other topic.</summary>
    public static bool TryParse(string topic, [NotNullWhen(true)] out string? gatewayId, out TopicKind kind)
    {
        gatewayId = null;
        kind = default;
        if (!topic.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = topic.AsSpan(Prefix.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            return false;
        }

        var id = rest[..slash];
        if (!IsValidGatewayId(id))
        {
            return false;
        }

        switch (rest[(slash + 1)..])
        {
            case "reads": kind = TopicKind.Reads; break;
            case "events": kind = TopicKind.Events; break;
            case "status": kind = TopicKind.Status; break;
            case "config": kind = TopicKind.Config; break;
            case "config/applied": kind = TopicKind.ConfigApplied; break;
            default: return false;
        }

        gatewayId = id.ToString();
        return true;
    }

    /// <summary>A gateway id is 1..64 of <c>[A-Za-z0-9_.-]</c>: safe in topics, file names and URLs.</summary>
    public static bool IsValidGatewayId(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty || id.Length > MaxGatewayIdLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws with a clear message when <paramref name="gatewayId"/> is not valid.</summary>
    public static void ValidateGatewayId(string gatewayId)
    {
        if (!IsValidGatewayId(gatewayId))
        {
            throw new ArgumentException(
                $"Gateway id '{gatewayId}' is not valid: use 1..{MaxGatewayIdLength} characters of A-Z a-z 0-9 _ . -",
                nameof(gatewayId));
        }
    }

    private static string Suffix(TopicKind kind) => kind switch
    {
        TopicKind.Reads => "reads",
        TopicKind.Events => "events",
        TopicKind.Status => "status",
        TopicKind.Config => "config",
        TopicKind.ConfigApplied => "config/applied",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown topic kind."),
    };
}
