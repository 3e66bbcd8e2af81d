using EventMlOps.Agents;

await using var app = AgentsApp.Build(args);
await app.RunAsync();
