using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using EdgeStream.Contracts;

namespace EdgeStream.Gateways;

/// <summary>How one gateway proves who it is: a password hash, a client-certificate thumbprint, or both.</summary>
public sealed record GatewayCredential
{
    /// <summary>The gateway id; also its MQTT client id and user name.</summary>
    public required string GatewayId { get; init; }

    /// <summary>A hash from <see cref="GatewayPasswords.Hash"/> (<c>pbkdf2-sha256$iterations$salt$hash</c>), or null.</summary>
    public string? PasswordHash { get; init; }

    /// <summary>SHA-256 thumbprint (hex) of the gateway's client certificate, or null.</summary>
    public string? CertificateThumbprint { get; init; }
}

/// <summary>Password hashing for gateway credentials: PBKDF2-SHA256 with a random salt, compared in constant time.</summary>
public static class GatewayPasswords
{
    private const string Scheme = "pbkdf2-sha256";

    /// <summary>Hashes <paramref name="password"/> for storing in configuration.</summary>
    public static string Hash(string password, int iterations = 210_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1000);
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, 32);
        return $"{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>True when <paramref name="password"/> matches <paramref name="stored"/>.</summary>
    public static bool Verify(string stored, string? password)
    {
        if (password is null || !TryParse(stored, out var iterations, out var salt, out var expected))
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    internal static bool TryParse(string stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = [];
        hash = [];
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], out iterations) || iterations < 1000)
        {
            return false;
        }

        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
            return salt.Length >= 8 && hash.Length >= 16;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

/// <summary>
/// The gateways allowed to connect and how each authenticates, loaded from configuration and validated
/// at start (bad entries stop start-up with a message naming the entry and key).
/// </summary>
public sealed class GatewayCredentialStore
{
    private readonly Dictionary<string, GatewayCredential> _byId;

    // SHA-256 of the last password that passed PBKDF2 per gateway: a reconnect storm of a whole fleet
    // must not cost one slow hash per connection. Only a password that already verified is accepted.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> _verified = new(StringComparer.Ordinal);

    /// <summary>Validates and indexes <paramref name="credentials"/>.</summary>
    /// <exception cref="ArgumentException">An entry is invalid; the message names it (e.g. <c>Gateways[2].PasswordHash</c>).</exception>
    public GatewayCredentialStore(IEnumerable<GatewayCredential> credentials)
    {
        _byId = new Dictionary<string, GatewayCredential>(StringComparer.Ordinal);
        var i = 0;
        foreach (var c in credentials)
        {
            var key = $"Gateways[{i}]";
            if (!Topics.IsValidGatewayId(c.GatewayId))
            {
                throw new ArgumentException($"{key}.GatewayId '{c.GatewayId}' is not valid: use 1..{Topics.MaxGatewayIdLength} characters of A-Z a-z 0-9 _ . -");
            }

            if (c.PasswordHash is null && c.CertificateThumbprint is null)
            {
                throw new ArgumentException($"{key} ('{c.GatewayId}') needs a PasswordHash or a CertificateThumbprint.");
            }

            if (c.PasswordHash is not null && !GatewayPasswords.TryParse(c.PasswordHash, out _, out _, out _))
            {
                throw new ArgumentException($"{key}.PasswordHash of '{c.GatewayId}' is not a pbkdf2-sha256$iterations$salt$hash value (make one with GatewayPasswords.Hash).");
            }

            if (c.CertificateThumbprint is { } t && (t.Length != 64 || !t.All(char.IsAsciiHexDigit)))
            {
                throw new ArgumentException($"{key}.CertificateThumbprint of '{c.GatewayId}' must be a SHA-256 thumbprint: 64 hex digits.");
            }

            if (!_byId.TryAdd(c.GatewayId, c))
            {
                throw new ArgumentException($"{key}.GatewayId '{c.GatewayId}' appears twice.");
            }

            i++;
        }
    }

    /// <summary>Number of gateways known.</summary>
    public int Count => _byId.Count;

    /// <summary>
    /// Loads a JSON file: <c>{"gateways":[{"gatewayId":"gw-1","passwordHash":"pbkdf2-sha256$…","certificateThumbprint":"…"}]}</c>.
    /// </summary>
    public static GatewayCredentialStore LoadJson(string path)
    {
        using var stream = File.OpenRead(path);
        var file = JsonSerializer.Deserialize<CredentialsFile>(stream, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
            ?? throw new ArgumentException($"Gateway credentials file '{path}' is empty.");
        return new GatewayCredentialStore(file.Gateways ?? []);
    }

    /// <summary>True when <paramref name="gatewayId"/> is known.</summary>
    public bool IsKnown(string gatewayId) => _byId.ContainsKey(gatewayId);

    /// <summary>True when the password matches the gateway's hash.</summary>
    public bool VerifyPassword(string gatewayId, string? password)
    {
        if (password is null || !_byId.TryGetValue(gatewayId, out var c) || c.PasswordHash is null)
        {
            return false;
        }

        var digest = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(password));
        if (_verified.TryGetValue(gatewayId, out var known) && CryptographicOperations.FixedTimeEquals(known, digest))
        {
            return true;
        }

        if (!GatewayPasswords.Verify(c.PasswordHash, password))
        {
            return false;
        }

        _verified[gatewayId] = digest;
        return true;
    }

    /// <summary>True when the certificate's SHA-256 thumbprint is the one configured for the gateway.</summary>
    public bool VerifyCertificate(string gatewayId, X509Certificate2? certificate) =>
        certificate is not null && _byId.TryGetValue(gatewayId, out var c) && c.CertificateThumbprint is not null
        && string.Equals(certificate.GetCertHashString(HashAlgorithmName.SHA256), c.CertificateThumbprint, StringComparison.OrdinalIgnoreCase);

    /// <summary>True when some gateway is configured with this certificate (for the TLS handshake).</summary>
    public bool IsKnownCertificate(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        var thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        return _byId.Values.Any(c => string.Equals(c.CertificateThumbprint, thumbprint, StringComparison.OrdinalIgnoreCase));
    }

    private sealed record CredentialsFile(List<GatewayCredential>? Gateways);
}
