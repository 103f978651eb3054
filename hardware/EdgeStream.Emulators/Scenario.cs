using System.Text.Json;
using EdgeStream.Contracts;

namespace EdgeStream.Emulators;

/// <summary>
/// A scripted tag population for an emulated reader: which tags are seen by which antenna when, with
/// RSSI rising to a peak and falling again over each sighting. Loaded from JSON (see docs/readers.md);
/// times are milliseconds from the start of the inventory, and the timeline can repeat.
/// </summary>
public sealed record Scenario
{
    /// <summary>A name for logs.</summary>
    public string Name { get; init; } = "scenario";

    /// <summary>Inventory round length: every active sighting yields one read per tick.</summary>
    public int TickMs { get; init; } = 200;

    /// <summary>Length of the timeline (and of one loop); defaults to the end of the last sighting.</summary>
    public int? PeriodMs { get; init; }

    /// <summary>Antennas the emulated reader has.</summary>
    public int Antennas { get; init; } = 4;

    /// <summary>Whether reads carry FirstSeenTimestampUTC (the current time); false tests the arrival-time fallback.</summary>
    public bool SendFirstSeen { get; init; } = true;

    /// <summary>How far the reader's clock is off (its timestamps = true time + this); for skewed-clock tests.</summary>
    public int ClockOffsetMs { get; init; }

    /// <summary>The tags.</summary>
    public IReadOnlyList<ScenarioTag> Tags { get; init; } = [];

    /// <summary>The timeline's length in milliseconds.</summary>
    public int EffectivePeriodMs => PeriodMs ?? Tags.SelectMany(t => t.Sightings).Select(s => s.ToMs).DefaultIfEmpty(TickMs).Max();

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Loads and validates a scenario file.</summary>
    /// <exception cref="InvalidDataException">Not JSON, or a value out of range; the message names the key.</exception>
    public static Scenario Load(string path)
    {
        Scenario? scenario;
        try
        {
            scenario = JsonSerializer.Deserialize<Scenario>(File.ReadAllText(path), Json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Scenario '{path}' is not valid JSON: {ex.Message}", ex);
        }

        return (scenario ?? throw new InvalidDataException($"Scenario '{path}' is empty.")).Validate();
    }

    /// <summary>Parses and validates scenario JSON text.</summary>
    public static Scenario Parse(string json) =>
        (JsonSerializer.Deserialize<Scenario>(json, Json) ?? throw new InvalidDataException("Scenario is empty.")).Validate();

    /// <summary>Checks every value; throws naming the first bad key.</summary>
    public Scenario Validate()
    {
        static void Require(bool ok, string key, string rule)
        {
            if (!ok)
            {
                throw new InvalidDataException($"Scenario key '{key}' is invalid: {rule}.");
            }
        }

        Require(TickMs is >= 10 and <= 60_000, "tickMs", "10..60000");
        Require(Antennas is >= 1 and <= 64, "antennas", "1..64");
        Require(Tags.Count > 0, "tags", "at least one tag");
        Require(PeriodMs is null or > 0, "periodMs", "more than 0");
        Require(ClockOffsetMs is >= -86_400_000 and <= 86_400_000, "clockOffsetMs", "-86400000..86400000 (one day either way)");
        for (var i = 0; i < Tags.Count; i++)
        {
            var t = Tags[i];
            Require(Epc.TryParseHex(t.Epc, out _), $"tags[{i}].epc", "an even number of hex digits, up to 124");
            Require(t.Sightings.Count > 0, $"tags[{i}].sightings", "at least one sighting");
            for (var j = 0; j < t.Sightings.Count; j++)
            {
                var s = t.Sightings[j];
                var key = $"tags[{i}].sightings[{j}]";
                Require(s.Antenna >= 1 && s.Antenna <= Antennas, key + ".antenna", $"1..{Antennas}");
                Require(s.FromMs >= 0 && s.ToMs > s.FromMs, key + ".toMs", "greater than fromMs, which is 0 or more");
                Require(new[] { s.RssiFrom, s.RssiPeak, s.RssiTo }.All(r => r is >= -127 and <= 0), key + ".rssi*", "dBm between -127 and 0");
            }
        }

        return this;
    }

    /// <summary>
    /// The reads of the inventory round at <paramref name="elapsedMs"/> since the inventory started.
    /// Returns false when the timeline is over and <paramref name="loop"/> is off.
    /// </summary>
    public bool Sample(long elapsedMs, bool loop, List<ScenarioRead> output)
    {
        var period = EffectivePeriodMs;
        if (!loop && elapsedMs >= period)
        {
            return false;
        }

        var t = elapsedMs % period;
        foreach (var tag in Tags)
        {
            foreach (var s in tag.Sightings)
            {
                if (t >= s.FromMs && t < s.ToMs)
                {
                    output.Add(new ScenarioRead(tag.Bytes, (ushort)s.Antenna, s.RssiAt(t)));
                }
            }
        }

        return true;
    }
}

/// <summary>One tag and its sightings.</summary>
public sealed record ScenarioTag
{
    private byte[]? _bytes;

    /// <summary>The EPC in hex.</summary>
    public string Epc { get; init; } = string.Empty;

    /// <summary>What the tag is on (for people reading the scenario).</summary>
    public string? Label { get; init; }

    /// <summary>When which antenna sees it.</summary>
    public IReadOnlyList<Sighting> Sightings { get; init; } = [];

    /// <summary>The EPC's bytes.</summary>
    public byte[] Bytes => _bytes ??= Convert.FromHexString(Epc);
}

/// <summary>An antenna seeing a tag from <see cref="FromMs"/> to <see cref="ToMs"/>, RSSI rising to a peak at the middle and falling.</summary>
public sealed record Sighting
{
    /// <summary>1-based antenna.</summary>
    public int Antenna { get; init; }

    /// <summary>Start, ms into the timeline.</summary>
    public int FromMs { get; init; }

    /// <summary>End (exclusive), ms into the timeline.</summary>
    public int ToMs { get; init; }

    /// <summary>RSSI at the start, dBm.</summary>
    public double RssiFrom { get; init; } = -70;

    /// <summary>RSSI at the middle, dBm.</summary>
    public double RssiPeak { get; init; } = -45;

    /// <summary>RSSI at the end, dBm.</summary>
    public double RssiTo { get; init; } = -70;

    /// <summary>RSSI at time <paramref name="t"/> (ms into the timeline).</summary>
    public double RssiAt(long t)
    {
        var mid = (FromMs + ToMs) / 2.0;
        return t <= mid
            ? RssiFrom + ((RssiPeak - RssiFrom) * (t - FromMs) / Math.Max(1, mid - FromMs))
            : RssiPeak + ((RssiTo - RssiPeak) * (t - mid) / Math.Max(1, ToMs - mid));
    }
}

/// <summary>One read produced by a scenario.</summary>
public readonly record struct ScenarioRead(byte[] Epc, ushort Antenna, double RssiDbm);
