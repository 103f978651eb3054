using System.Text;
using EdgeStream.Contracts;
using EdgeStream.Readers.Scanners;

namespace EdgeStream.Readers.Tests;

/// <summary>Scanned codes and handheld requests: EPCs, barcodes, and clear errors for bad input.</summary>
[Trait("Capability", "Readers")]
public sealed class Scan_parsing
{
    [Theory]
    [InlineData("3034257BF400B7800004CB2F", "3034257BF400B7800004CB2F")]
    [InlineData("  3034257bf400b7800004cb2f\t", "3034257BF400B7800004CB2F")]
    [InlineData("epc:ABCD", "ABCD")]
    [InlineData("4006381333931", "34303036333831333333393331")]
    [InlineData("barcode:303425", "333033343235")]
    public void Codes_become_epcs(string code, string hex)
    {
        Assert.True(ScanParser.TryParse(code, out var epc, out var error), error);
        Assert.Equal(hex, epc.ToString());
    }

    [Theory]
    [InlineData("", "empty code")]
    [InlineData("epc:XYZ", "not an EPC")]
    [InlineData("bad code", "not printable ASCII at position 4")]
    [InlineData("barcode:", "has 0 characters")]
    public void Bad_codes_say_why(string code, string expected)
    {
        Assert.False(ScanParser.TryParse(code, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.False(ScanParser.TryParse(new string('7', 63), out _, out var tooLong));
        Assert.Contains("1..62", tooLong, StringComparison.Ordinal);
    }

    [Fact]
    public void Handheld_request_becomes_reads_with_operator_device_and_time()
    {
        var body = """{"operator":"nurse-4","device":"ward-3","scans":[{"code":"3034257BF400B7800004CB2F","time":"2026-11-24T08:00:00.123456Z"},{"code":"4006381333931"}]}""";

        Assert.True(ScanRequest.TryParse(Encoding.UTF8.GetBytes(body), "handheld", 42, out var reads, out var error), error);

        Assert.Equal(2, reads.Length);
        Assert.All(reads, r =>
        {
            Assert.Equal(SourceKind.Handheld, r.Source);
            Assert.Equal("nurse-4", r.OperatorId);
            Assert.Equal("ward-3", r.ReaderId);
            Assert.Equal(TagRead.NoRssi, r.RssiCentiDbm);
        });
        Assert.Equal("2026-11-24T08:00:00.123456Z", EventTimes.ToIso(reads[0].EventTimeUs));
        Assert.Equal(42, reads[1].EventTimeUs);
    }

    [Fact]
    public void A_zone_for_the_request_or_for_one_scan_says_where_the_person_scanned()
    {
        var body = """{"operator":"nurse-4","zone":"ward-3","scans":[{"code":"3034257BF400B7800004CB2F"},{"code":"4006381333931","zone":"bay-2"}]}""";
        Assert.True(ScanRequest.TryParse(Encoding.UTF8.GetBytes(body), "handheld", 42, out var reads, out var error), error);
        Assert.Equal(["ward-3", "bay-2"], reads.Select(r => r.Zone));

        Assert.True(ScanRequest.TryParse("""{"operator":"o","scans":[{"code":"AB"}]}"""u8, "h", 0, out reads, out error), error);
        Assert.Null(Assert.Single(reads).Zone);
    }

    [Theory]
    [InlineData("""{"operator":"o","zone":"","scans":[{"code":"AB"}]}""", "zone: a zone name")]
    [InlineData("""{"operator":"o","scans":[{"code":"AB","zone":5}]}""", "scans[0].zone: a zone name")]
    [InlineData("", "body is empty")]
    [InlineData("{", "not JSON")]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("""{"scans":[{"code":"AB"}]}""", "operator: required")]
    [InlineData("""{"operator":"o"}""", "scans: required")]
    [InlineData("""{"operator":"o","scans":[]}""", "scans: required")]
    [InlineData("""{"operator":"o","scans":[{"code":"ABCD"},{"kode":"x"}]}""", "scans[1].code: required")]
    [InlineData("""{"operator":"o","scans":[{"code":"epc:QQ"}]}""", "scans[0].code: 'epc:QQ' is not an EPC")]
    [InlineData("""{"operator":"o","scans":[{"code":"AB","time":"yesterday"}]}""", "scans[0].time")]
    [InlineData("""{"operator":"o","scans":[{"code":"AB","time":"2026-11-24T08:00:00"}]}""", "scans[0].time")]
    [InlineData("""{"operator":"o","device":7,"scans":[{"code":"AB"}]}""", "device:")]
    public void Bad_requests_name_the_field(string body, string expected)
    {
        Assert.False(ScanRequest.TryParse(Encoding.UTF8.GetBytes(body), "h", 0, out var reads, out var error));
        Assert.Empty(reads);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_bodies_never_throw()
    {
        var rng = new Random(3);
        var seed = Encoding.UTF8.GetBytes("""{"operator":"nurse-4","scans":[{"code":"3034257BF400B7800004CB2F","time":"2026-11-24T08:00:00Z"}]}""");
        for (var i = 0; i < 5_000; i++)
        {
            var b = (byte[])seed.Clone();
            for (var k = rng.Next(1, 5); k > 0; k--)
            {
                b[rng.Next(b.Length)] = (byte)rng.Next(256);
            }

            ScanRequest.TryParse(b, "h", 0, out _, out _);
        }
    }
}
