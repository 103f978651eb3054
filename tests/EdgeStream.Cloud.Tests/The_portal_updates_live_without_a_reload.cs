using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using Microsoft.Playwright;
using MQTTnet;

namespace EdgeStream.Cloud.Tests;

/// <summary>
/// The portal page in a real browser (Debian's Chromium, headless) shows an asset's zone change
/// as it happens, without a reload.
/// </summary>
[Trait("Capability", "Foundation")]
public sealed class The_portal_updates_live_without_a_reload
{
    [Fact]
    public async Task Zone_change_appears_in_the_open_page()
    {
        await using var cloud = await CloudProcess.StartAsync(["gw-portal"]);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync();
        var refused = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                lock (refused)
                {
                    refused.Add(message.Text);
                }
            }
        };
        await page.GotoAsync(cloud.Http.BaseAddress!.ToString());
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("live", new() { Timeout = 30_000 });

        using var client = await CloudProcess.ConnectGatewayAsync(cloud.MqttPort, "gw-portal");
        var epc = Epc.ParseHex("E28011606000020000000042");
        var now = EventTimes.NowUs();

        await PublishAsync(client, 1, new PresenceEvent { Epc = epc, Kind = PresenceKind.Arrive, Zone = "waiting-room", EventTimeUs = now, ReadCount = 3 });
        var row = page.Locator($"tr[data-epc='{epc}'] td.zone");
        await Assertions.Expect(row).ToHaveTextAsync("waiting-room", new() { Timeout = 30_000 });

        await PublishAsync(client, 2, new PresenceEvent { Epc = epc, Kind = PresenceKind.Move, Zone = "recovery", FromZone = "waiting-room", EventTimeUs = now + 1_000_000, ReadCount = 4 });
        await Assertions.Expect(row).ToHaveTextAsync("recovery", new() { Timeout = 30_000 });
        await Assertions.Expect(page.Locator("tr[data-gateway='gw-portal']")).ToContainTextAsync("gw-portal", new() { Timeout = 30_000 });

        // Same page object throughout: nothing navigated or reloaded it; the strict policy refused nothing it needs.
        Assert.Equal(cloud.Http.BaseAddress!.ToString(), page.Url);
        lock (refused)
        {
            Assert.Empty(refused);
        }
    }

    private static Task PublishAsync(IMqttClient client, ulong seq, PresenceEvent e) =>
        client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(Topics.For("gw-portal", TopicKind.Events))
            .WithPayload(BatchCodec.Encode(new Batch { GatewayId = "gw-portal", Sequence = seq, Class = DataClass.Presence, CreatedUs = e.EventTimeUs, Events = [e] }))
            .WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build());
}
