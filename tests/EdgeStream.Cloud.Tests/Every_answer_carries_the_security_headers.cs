using System.Net;
using System.Text;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The portal, the API, health and error answers all carry the security headers: a strict
/// Content-Security-Policy (same origin only, no inline code, no framing), no sniffing, no referrer.
/// </summary>
[Trait("Capability", "Portal")]
public sealed class Every_answer_carries_the_security_headers
{
    [Fact]
    public async Task Portal_api_health_and_errors_carry_them()
    {
        await using var cloud = await CloudProcess.StartAsync(["gw-headers"]);
        var answers = new[]
        {
            await cloud.Http.GetAsync("/"),
            await cloud.Http.GetAsync("/portal/app.js"),
            await cloud.Http.GetAsync("/api/assets"),
            await cloud.Http.GetAsync("/healthz"),
            await cloud.Http.GetAsync("/api/assets/no-such-asset"),
            await cloud.Http.PostAsync("/api/events", new StringContent("{not json", Encoding.UTF8, "application/json")),
        };
        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.BadRequest],
            answers.Select(a => a.StatusCode));
        foreach (var a in answers)
        {
            var csp = string.Join(";", a.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", Assert.Single(a.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal("DENY", Assert.Single(a.Headers.GetValues("X-Frame-Options")));
            Assert.Equal("no-referrer", Assert.Single(a.Headers.GetValues("Referrer-Policy")));
            Assert.False(a.Headers.Contains("Strict-Transport-Security"), "HSTS on plain HTTP means nothing");
        }
    }
}
