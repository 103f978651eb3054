using System.Text;
using EdgeStream.Windowing;
using Microsoft.Extensions.Configuration;

namespace EdgeStream.Windowing.Tests;

[Trait("Capability", "Windowing")]
public sealed class Windowing_options
{
    // The shape documented in docs/windowing.md.
    private const string DocumentedJson = """
        {
          "Windowing": {
            "DedupeIntervalMs": 2000,
            "ReorderToleranceMs": 750,
            "DepartureTimeoutMs": 8000,
            "Arbitration": { "WindowMs": 1500, "MinReads": 4, "MinMeanRssiDbm": -72.5, "MoveMarginDb": 6, "HoldOffMs": 500 },
            "Reads": { "Mode": "Sampled", "SampleEvery": 20 },
            "Readers": [ { "Id": "dock-b", "ClockOffsetMs": -120 } ],
            "Zones": [
              { "Name": "ward-3", "Kind": "Room",
                "Antennas": [ { "Reader": "dock-a", "Antenna": 1 }, { "Reader": "dock-b", "Antenna": 3 } ] },
              { "Name": "main-exit", "Kind": "Exit", "DepartureTimeoutMs": 2000,
                "Arbitration": { "MoveMarginDb": 3, "HoldOffMs": 0 },
                "Antennas": [ { "Reader": "dock-a", "Antenna": 2 } ] }
            ]
          }
        }
        """;

    [Fact]
    public void Documented_json_section_binds_every_setting()
    {
        var options = WindowingOptions.Load(Section(DocumentedJson));

        Assert.Equal(2000, options.DedupeIntervalMs);
        Assert.Equal(750, options.ReorderToleranceMs);
        Assert.Equal(8000, options.DepartureTimeoutMs);
        Assert.Equal(new ArbitrationOptions { WindowMs = 1500, MinReads = 4, MinMeanRssiDbm = -72.5, MoveMarginDb = 6, HoldOffMs = 500 }, options.Arbitration);
        Assert.Equal(new ReadsOutputOptions { Mode = ReadsOutputMode.Sampled, SampleEvery = 20 }, options.Reads);
        Assert.Equal(-120, Assert.Single(options.Readers).ClockOffsetMs);
        Assert.Equal(2, options.Zones.Count);
        Assert.Equal(ZoneKind.Room, options.Zones[0].Kind);
        Assert.Equal(["dock-a:1", "dock-b:3"], options.Zones[0].Antennas.Select(a => $"{a.Reader}:{a.Antenna}"));
        Assert.Equal(ZoneKind.Exit, options.Zones[1].Kind);
        Assert.Equal(2000, options.Zones[1].DepartureTimeoutMs);
        Assert.Equal(3, options.Zones[1].Arbitration!.MoveMarginDb);
        Assert.Null(options.Zones[1].Arbitration!.MinReads);
    }

    [Fact]
    public void Empty_section_gives_the_defaults()
    {
        var options = WindowingOptions.Load(Section("""{ "Windowing": { } }"""));

        Assert.Equal(new WindowingOptions().DedupeIntervalMs, options.DedupeIntervalMs);
        Assert.Equal(ReadsOutputMode.Summaries, options.Reads.Mode);
        Assert.Empty(options.Zones);
    }

    [Theory]
    [InlineData("""{ "Windowing": { "DedupeIntervalMs": 0 } }""", "Windowing:DedupeIntervalMs")]
    [InlineData("""{ "Windowing": { "ReorderToleranceMs": -5 } }""", "Windowing:ReorderToleranceMs")]
    [InlineData("""{ "Windowing": { "Arbitration": { "MinReads": 0 } } }""", "Windowing:Arbitration:MinReads")]
    [InlineData("""{ "Windowing": { "Arbitration": { "MoveMarginDb": -1 } } }""", "Windowing:Arbitration:MoveMarginDb")]
    [InlineData("""{ "Windowing": { "Reads": { "SampleEvery": 0 } } }""", "Windowing:Reads:SampleEvery")]
    [InlineData("""{ "Windowing": { "Zones": [ { "Name": "", "Antennas": [ { "Reader": "r", "Antenna": 1 } ] } ] } }""", "Windowing:Zones:0:Name")]
    [InlineData("""{ "Windowing": { "Zones": [ { "Name": "z" } ] } }""", "Windowing:Zones:0:Antennas")]
    [InlineData("""{ "Windowing": { "Zones": [ { "Name": "z", "Antennas": [ { "Reader": "r", "Antenna": 0 } ] } ] } }""", "Windowing:Zones:0:Antennas:0:Antenna")]
    [InlineData("""{ "Windowing": { "Zones": [ { "Name": "z", "Antennas": [ { "Reader": "r", "Antenna": 1 } ], "Arbitration": { "HoldOffMs": -1 } } ] } }""", "Windowing:Zones:0:Arbitration:HoldOffMs")]
    [InlineData("""{ "Windowing": { "Zones": [ { "Name": "a", "Antennas": [ { "Reader": "r", "Antenna": 1 } ] }, { "Name": "a", "Antennas": [ { "Reader": "r", "Antenna": 2 } ] } ] } }""", "Windowing:Zones:1:Name")]
    [InlineData("""{ "Windowing": { "Zones": [ { "Name": "a", "Antennas": [ { "Reader": "r", "Antenna": 1 } ] }, { "Name": "b", "Antennas": [ { "Reader": "r", "Antenna": 1 } ] } ] } }""", "Windowing:Zones:1:Antennas:0")]
    [InlineData("""{ "Windowing": { "Readers": [ { "Id": "r", "ClockOffsetMs": 1 }, { "Id": "r" } ] } }""", "Windowing:Readers:1:Id")]
    public void Bad_value_is_refused_with_its_key(string json, string key)
    {
        var ex = Assert.Throws<WindowingOptionsException>(() => WindowingOptions.Load(Section(json)));

        Assert.Equal(key, ex.Key);
        Assert.StartsWith(key + ":", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "Windowing": { "Zones": [ { "Name": "z", "Kind": "Basement", "Antennas": [ { "Reader": "r", "Antenna": 1 } ] } ] } }""", "Kind")]
    [InlineData("""{ "Windowing": { "DedupeIntervalMS": 10, "DepartureTimout": 5 } }""", "DepartureTimout")]
    [InlineData("""{ "Windowing": { "Reads": { "Mode": "Everything" } } }""", "Mode")]
    public void Unknown_keys_and_unconvertible_values_are_refused_naming_them(string json, string named)
    {
        var ex = Assert.Throws<WindowingOptionsException>(() => WindowingOptions.Load(Section(json)));

        Assert.True(ex.Message.Contains(named, StringComparison.Ordinal), ex.Message);
    }

    [Fact]
    public void Processor_refuses_invalid_options_built_in_code()
    {
        var options = new WindowingOptions { DepartureTimeoutMs = 0 };

        var ex = Assert.Throws<WindowingOptionsException>(() => new WindowingProcessor(options));

        Assert.Equal("Windowing:DepartureTimeoutMs", ex.Key);
    }

    private static IConfigurationSection Section(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build().GetSection(WindowingOptions.SectionName);
}
