using System.Data.Common;

namespace EdgeStream.Cloud.Http;

/// <summary>
/// Turns what an endpoint did not handle into RFC 7807 problem details instead of an empty 500: a
/// database that cannot be reached answers 503 with <c>Retry-After</c> (the job keeps its place in the
/// log and catches up when it is back), anything else 500, logged with its stack.
/// </summary>
internal static partial class ProblemMiddleware
{
    public static void UseProblemDetailsForFailures(this WebApplication app)
    {
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EdgeStream.Cloud.Http");
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                var down = IsDatabaseUnavailable(ex);
                if (down)
                {
                    LogDatabaseUnavailable(log, context.Request.Path, ex.Message);
                }
                else
                {
                    LogFailed(log, ex, context.Request.Method, context.Request.Path);
                }

                context.Response.Clear();
                if (down)
                {
                    context.Response.Headers.RetryAfter = "5";
                }

                await Results.Problem(
                    title: down ? "Database unavailable" : "Internal error",
                    detail: down ? "The tracking database cannot be reached: " + ex.Message : "The request failed; the service log has the details.",
                    statusCode: down ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError).ExecuteAsync(context);
            }
        });
    }

    private static bool IsDatabaseUnavailable(Exception ex) => ex switch
    {
        DbException or TimeoutException => true,
        InvalidOperationException { InnerException: DbException or TimeoutException or System.Net.Sockets.SocketException } => true,
        _ => ex.InnerException is { } inner && IsDatabaseUnavailable(inner),
    };

    [LoggerMessage(EventId = 8101, Level = LogLevel.Warning, Message = "{Path}: the database cannot be reached ({Reason}); answered 503")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 8102, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string method, string path);
}
