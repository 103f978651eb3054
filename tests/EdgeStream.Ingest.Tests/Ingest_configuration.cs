using EdgeStream.Gateways;
using EdgeStream.Ingest;

namespace EdgeStream.Ingest.Tests;

[Trait("Capability", "Ingest")]
public sealed class Ingest_configuration
{
    private static readonly string Hash = GatewayPasswords.Hash("correct horse", 1000);

    [Fact]
    public void Passwords_verify_only_against_their_own_hash_and_the_store_caches_nothing_else()
    {
        Assert.True(GatewayPasswords.Verify(Hash, "correct horse"));
        Assert.False(GatewayPasswords.Verify(Hash, "correct horse "));
        Assert.False(GatewayPasswords.Verify(Hash, null));
        Assert.False(GatewayPasswords.Verify("plain-text", "plain-text"));
        Assert.NotEqual(Hash, GatewayPasswords.Hash("correct horse", 1000));

        var store = new GatewayCredentialStore([new GatewayCredential { GatewayId = "gw-1", PasswordHash = Hash }]);
        Assert.True(store.VerifyPassword("gw-1", "correct horse"));
        Assert.True(store.VerifyPassword("gw-1", "correct horse"));
        Assert.False(store.VerifyPassword("gw-1", "wrong"));
        Assert.False(store.VerifyPassword("gw-2", "correct horse"));
    }

    [Theory]
    [InlineData("bad id!", "hash", null, "Gateways[0].GatewayId")]
    [InlineData("gw-1", null, null, "needs a PasswordHash or a CertificateThumbprint")]
    [InlineData("gw-1", "md5$abc", null, "Gateways[0].PasswordHash")]
    [InlineData("gw-1", null, "ABCD", "Gateways[0].CertificateThumbprint")]
    public void Bad_credential_entries_stop_start_up_naming_the_entry(string id, string? hash, string? thumbprint, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => new GatewayCredentialStore(
            [new GatewayCredential { GatewayId = id, PasswordHash = hash == "hash" ? Hash : hash, CertificateThumbprint = thumbprint }]));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void A_gateway_listed_twice_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new GatewayCredentialStore(
        [
            new GatewayCredential { GatewayId = "gw-1", PasswordHash = Hash },
            new GatewayCredential { GatewayId = "gw-1", PasswordHash = Hash },
        ]));
        Assert.Contains("Gateways[1].GatewayId", ex.Message);
    }

    [Fact]
    public void Credentials_load_from_a_json_file()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "gateways.json");
        File.WriteAllText(path, $$"""{ "gateways": [ { "gatewayId": "gw-ward-3", "passwordHash": "{{Hash}}" }, { "gatewayId": "gw-dock", "certificateThumbprint": "{{new string('A', 64)}}" } ] }""");
        var store = GatewayCredentialStore.LoadJson(path);
        Assert.Equal(2, store.Count);
        Assert.True(store.VerifyPassword("gw-ward-3", "correct horse"));
        Assert.True(store.IsKnown("gw-dock"));
    }

    [Theory]
    [InlineData("mqtt://broker.local", "broker.local", 1883, false, null, null)]
    [InlineData("mqtts://broker.local", "broker.local", 8883, true, null, null)]
    [InlineData("mqtt://ingest:p%40ss@10.0.0.5:1884", "10.0.0.5", 1884, false, "ingest", "p@ss")]
    public void Broker_uris_parse(string uri, string host, int port, bool tls, string? user, string? password)
    {
        var o = ExternalBrokerOptions.Parse(uri);
        Assert.Equal((host, port, tls, user, password), (o.Host, o.Port, o.UseTls, o.UserName, o.Password));
        o.Validate();
    }

    [Theory]
    [InlineData("http://broker")]
    [InlineData("broker:1883")]
    [InlineData("mqtt://")]
    public void Bad_broker_uris_name_the_option(string uri)
    {
        var ex = Assert.Throws<ArgumentException>(() => ExternalBrokerOptions.Parse(uri));
        Assert.Contains("--broker", ex.Message);
    }

    [Fact]
    public void External_broker_options_name_the_bad_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => (ExternalBrokerOptions.Parse("mqtt://b") with { MaxInFlight = 0 }).Validate());
        Assert.Contains("MaxInFlight", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => (ExternalBrokerOptions.Parse("mqtt://b") with { SessionExpiry = TimeSpan.Zero }).Validate());
        Assert.Contains("SessionExpiry", ex.Message);
    }

    [Fact]
    public void Tls_options_name_an_unreadable_certificate()
    {
        var ex = Assert.Throws<ArgumentException>(() => new IngestTlsOptions { CertificatePath = "/nonexistent/server.pfx" }.LoadCertificate());
        Assert.Contains("CertificatePath", ex.Message);
    }
}
