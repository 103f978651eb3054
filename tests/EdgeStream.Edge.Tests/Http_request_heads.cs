using System.Buffers;
using System.Text;
using EdgeStream.Edge.Http;

namespace EdgeStream.Edge.Tests;

/// <summary>The edge HTTP server's header parser: what it takes from a request and what it refuses, with the reason.</summary>
[Trait("Capability", "StoreAndForward")]
public sealed class Http_request_heads
{
    private static bool Parse(string block, out RequestHead head, out string error) =>
        RequestHead.TryParse(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(block)), out head, out error);

    [Fact]
    public void A_post_with_a_body_keeps_alive_and_drops_the_query()
    {
        Assert.True(Parse("POST /api/scans?debug=1 HTTP/1.1\r\nHost: x\r\ncontent-length:  42 \r\nExpect: 100-continue", out var head, out _));
        Assert.Equal(("POST", "/api/scans", 42L, false, true, true), (head.Method, head.Path, head.ContentLength, head.Chunked, head.KeepAlive, head.ExpectContinue));
    }

    [Theory]
    [InlineData("GET /metrics HTTP/1.0", false)]
    [InlineData("GET /metrics HTTP/1.0\r\nConnection: keep-alive", true)]
    [InlineData("GET /metrics HTTP/1.1\r\nConnection: close", false)]
    [InlineData("GET /metrics HTTP/1.1", true)]
    public void Keep_alive_follows_the_version_and_the_connection_header(string block, bool keepAlive)
    {
        Assert.True(Parse(block, out var head, out _));
        Assert.Equal(keepAlive, head.KeepAlive);
    }

    [Fact]
    public void Transfer_encoding_is_flagged_for_refusal()
    {
        Assert.True(Parse("POST /api/scans HTTP/1.1\r\nTransfer-Encoding: chunked", out var head, out _));
        Assert.True(head.Chunked);
    }

    [Theory]
    [InlineData("GARBAGE", "request line")]
    [InlineData("get /metrics HTTP/1.1", "not an HTTP method")]
    [InlineData("GET metrics HTTP/1.1", "must start with '/'")]
    [InlineData("GET /metrics HTTP/2", "not supported")]
    [InlineData("GET /metrics HTTP/1.1\r\nNo colon here", "header line 1")]
    [InlineData("GET /metrics HTTP/1.1\r\nBad Name: x", "header line 1")]
    [InlineData("POST /x HTTP/1.1\r\nContent-Length: -1", "Content-Length")]
    [InlineData("POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999", "Content-Length")]
    [InlineData("POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6", "Content-Length")]
    [InlineData("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip", "chunked only")]
    [InlineData("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5", "not both")]
    public void Malformed_heads_are_refused_with_the_reason(string block, string reason)
    {
        Assert.False(Parse(block, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Arbitrary_bytes_never_throw()
    {
        var random = new Random(4);
        var bytes = new byte[300];
        for (var i = 0; i < 5_000; i++)
        {
            random.NextBytes(bytes);
            var length = random.Next(bytes.Length);
            if (i % 2 == 0)
            {
                Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n").CopyTo(bytes, 0);
            }

            _ = RequestHead.TryParse(new ReadOnlySequence<byte>(bytes, 0, length), out _, out _);
        }
    }
}
