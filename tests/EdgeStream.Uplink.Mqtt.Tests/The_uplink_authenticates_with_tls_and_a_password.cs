using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EdgeStream.Uplink.Mqtt.Tests;

/// <summary>
/// The uplink over mqtts:// to a broker whose certificate is signed by a private CA (given as
/// broker-ca), with the user name and password from the broker URI; the broker refuses wrong
/// credentials, and with the right ones every batch arrives.
/// </summary>
[Trait("Capability", "StoreAndForward")]
public sealed class The_uplink_authenticates_with_tls_and_a_password : IDisposable
{
    private readonly string _caFile = Path.Combine(Path.GetTempPath(), "es-ca-" + Guid.NewGuid().ToString("N") + ".pem");

    public void Dispose() => File.Delete(_caFile);

    [Fact]
    public async Task Batches_flow_over_tls_only_with_the_right_credentials()
    {
        using var ca = MakeCa();
        using var serverCert = MakeServerCert(ca);
        await File.WriteAllTextAsync(_caFile, ca.ExportCertificatePem());

        var port = FreePort.Pick();
        var refused = 0;
        var options = new MqttServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithEncryptedEndpoint()
            .WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback)
            .WithEncryptedEndpointPort(port)
            .WithEncryptionCertificate(serverCert)
            .WithPersistentSessions(true)
            .Build();
        using var server = new MqttServerFactory().CreateMqttServer(options);
        server.ValidatingConnectionAsync += e =>
        {
            if (e.UserName != "dock-7" || e.Password != "s3cret:pw")
            {
                Interlocked.Increment(ref refused);
                e.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
            }

            return Task.CompletedTask;
        };
        var received = 0L;
        server.InterceptingPublishAsync += e =>
        {
            if (e.ApplicationMessage.Topic.EndsWith("/reads", StringComparison.Ordinal))
            {
                Interlocked.Add(ref received, EdgeStream.Contracts.Wire.BatchCodec.Decode(e.ApplicationMessage.Payload).Count);
            }

            return Task.CompletedTask;
        };
        await server.StartAsync();
        try
        {
            await using (var wrong = new EdgeUnderTest(new Uri($"mqtts://dock-7:wrong@localhost:{port}"), tweak: o => o with { CaFile = _caFile }))
            {
                await wrong.AppendAsync(0, 10);
                await Wait.Until(() => Volatile.Read(ref refused) >= 2, "the broker refusing the wrong password");
                Assert.False(wrong.Uplink.IsConnected);
                Assert.Equal(10, wrong.Outbox.BufferedReads);
            }

            await using var edge = new EdgeUnderTest(new Uri($"mqtts://dock-7:s3cret%3Apw@localhost:{port}"), tweak: o => o with { CaFile = _caFile });
            await edge.AppendAsync(0, 3000);
            await Wait.Until(() => Interlocked.Read(ref received) == 3000, "3000 reads over TLS", detail: () => string.Join('\n', edge.Log.Lines));
            await Wait.Until(() => edge.Outbox.BufferedBatches == 0, "released after PUBACK");
        }
        finally
        {
            await server.StopAsync();
        }
    }

    private static X509Certificate2 MakeCa()
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest("CN=EdgeStream Test CA", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 MakeServerCert(X509Certificate2 ca)
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var signed = req.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
        using var withKey = signed.CopyWithPrivateKey(key);

        // SslStream on Linux wants the server key in a PKCS#12-backed certificate.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}
