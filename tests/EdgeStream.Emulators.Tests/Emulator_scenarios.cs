using EdgeStream.Emulators;

namespace EdgeStream.Emulators.Tests;

/// <summary>Scenario files: the demo loads, RSSI rises and falls over a sighting, looping repeats, bad files name the key.</summary>
[Trait("Capability", "Readers")]
public sealed class Emulator_scenarios
{
    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeStream.sln")))
            {
                return Path.Combine(dir.FullName, relative);
            }
        }

        throw new FileNotFoundException(relative);
    }

    [Fact]
    public void Demo_hospital_has_four_antennas_and_tags_that_overlap_while_moving()
    {
        var s = Scenario.Load(RepoFile("hardware/scenarios/demo-hospital.json"));

        Assert.Equal(4, s.Antennas);
        Assert.Equal(60000, s.EffectivePeriodMs);
        Assert.All(Enumerable.Range(1, 4), a => Assert.Contains(s.Tags.SelectMany(t => t.Sightings), x => x.Antenna == a));
        var reads = new List<ScenarioRead>();
        s.Sample(12000, loop: true, reads); // P-1001 between waiting room and doctor's office.
        var p1 = reads.Where(r => Convert.ToHexString(r.Epc) == "E28011902000050A1B2C0001").ToList();
        Assert.Equal([(ushort)1, (ushort)2], p1.Select(r => r.Antenna).Order());
    }

    [Fact]
    public void Rssi_rises_to_the_peak_and_falls_and_the_timeline_loops()
    {
        var s = Scenario.Parse("""{ "tags": [ { "epc": "AABB", "sightings": [ { "antenna": 2, "fromMs": 0, "toMs": 1000, "rssiFrom": -80, "rssiPeak": -40, "rssiTo": -60 } ] } ] }""");
        var reads = new List<ScenarioRead>();

        Assert.True(s.Sample(0, false, reads));
        Assert.True(s.Sample(500, false, reads));
        Assert.True(s.Sample(750, false, reads));
        Assert.Equal([-80.0, -40.0, -50.0], reads.Select(r => r.RssiDbm));
        reads.Clear();
        Assert.False(s.Sample(1000, false, reads));
        Assert.True(s.Sample(1500, true, reads));
        Assert.Equal(-40.0, Assert.Single(reads).RssiDbm);
    }

    [Theory]
    [InlineData("""{ "tags": [] }""", "'tags'")]
    [InlineData("""{ "tags": [ { "epc": "XYZ", "sightings": [ { "antenna": 1, "fromMs": 0, "toMs": 10 } ] } ] }""", "'tags[0].epc'")]
    [InlineData("""{ "antennas": 2, "tags": [ { "epc": "AA", "sightings": [ { "antenna": 3, "fromMs": 0, "toMs": 10 } ] } ] }""", "'tags[0].sightings[0].antenna'")]
    [InlineData("""{ "tags": [ { "epc": "AA", "sightings": [ { "antenna": 1, "fromMs": 10, "toMs": 10 } ] } ] }""", "'tags[0].sightings[0].toMs'")]
    [InlineData("""{ "tickMs": 1, "tags": [ { "epc": "AA", "sightings": [ { "antenna": 1, "fromMs": 0, "toMs": 10 } ] } ] }""", "'tickMs'")]
    public void Bad_scenarios_name_the_key(string json, string key)
    {
        var ex = Assert.Throws<InvalidDataException>(() => Scenario.Parse(json));
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }
}
