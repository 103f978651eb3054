using EdgeStream.Cloud;

return await CloudHost.RunAsync(args);
