using EdgeStream.Readers;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeStream.Readers.Tests;

/// <summary>Reader URIs parse into targets and settings; bad ones fail with a message naming the bad part.</summary>
[Trait("Capability", "Readers")]
public sealed class Reader_uris
{
    [Fact]
    public void Llrp_uri_defaults_to_port_5084_and_reads_settings()
    {
        var t = ReaderDrivers.Parse("llrp://reader-7.local?antennas=1,3&power=27.5&session=2&searchmode=3&report-every=10&keepalive-ms=1000");

        Assert.Equal(ReaderKind.Llrp, t.Kind);
        Assert.Equal("reader-7.local", t.Host);
        Assert.Equal(5084, t.Port);
        Assert.Equal([(ushort)1, (ushort)3], t.Settings.Antennas);
        Assert.Equal(27.5, t.Settings.TransmitPowerDbm);
        Assert.Equal(2, t.Settings.Session);
        Assert.Equal((ushort)3, t.Settings.SearchMode);
        Assert.Equal(10, t.Settings.ReportEveryNTags);
        Assert.Equal(TimeSpan.FromSeconds(3), t.Settings.DeadLinkDeadline);
        Assert.Equal(1234, ReaderDrivers.Parse("llrp://10.0.0.5:1234").Port);
    }

    [Fact]
    public void Serial_uri_takes_any_path_protocol_baud_and_address()
    {
        var t = ReaderDrivers.Parse("serial:///dev/pts/7?protocol=r2000&baud=57600&address=1");

        Assert.Equal(ReaderKind.R2000, t.Kind);
        Assert.Equal("/dev/pts/7", t.Path);
        Assert.Equal(57600, t.Settings.BaudRate);
        Assert.Equal(1, t.Settings.SerialAddress);
        Assert.Equal(ReaderKind.Lines, ReaderDrivers.Parse("serial:///dev/ttyACM0?protocol=lines&operator=nurse-4").Kind);
        var desk = ReaderDrivers.Parse("serial:///dev/ttyACM0?protocol=lines&operator=porter-bob&zone=checkout-desk").Settings;
        Assert.Equal(("porter-bob", "checkout-desk"), (desk.OperatorId, desk.Zone));
    }

    [Theory]
    [InlineData("not a uri", "not an absolute URI")]
    [InlineData("http://reader", "scheme 'http'")]
    [InlineData("llrp:///nohost", "host is missing")]
    [InlineData("llrp://r?bogus=1", "unknown parameter 'bogus'")]
    [InlineData("llrp://r?session=4", "'session' = '4'")]
    [InlineData("llrp://r?antennas=0", "'antennas' = '0'")]
    [InlineData("llrp://r?power=abc", "'power' = 'abc'")]
    [InlineData("llrp://r?power=99", "'power'")]
    [InlineData("llrp://r?session=1&session=2", "given twice")]
    [InlineData("llrp://r?protocol=r2000", "'protocol' does not apply")]
    [InlineData("serial:///dev/ttyUSB0", "'protocol' parameter is missing")]
    [InlineData("serial:///dev/ttyUSB0?protocol=modbus", "protocol 'modbus'")]
    [InlineData("serial://host/dev/ttyUSB0?protocol=r2000", "has no host")]
    [InlineData("serial:///dev/ttyUSB0?protocol=r2000&baud=12", "'baud' = '12'")]
    [InlineData("llrp://r?backoff-min-ms=5000&backoff-max-ms=100", "backoff-max-ms")]
    public void Bad_uris_name_the_bad_part(string uri, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => ReaderDrivers.Create(uri, "r1", NullLoggerFactory.Instance));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_validation_names_the_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ReaderSettings { KeepaliveInterval = TimeSpan.FromMilliseconds(1) }.Validate());
        Assert.Contains("'keepalive-ms'", ex.Message, StringComparison.Ordinal);
    }
}
