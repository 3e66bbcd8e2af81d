using Microsoft.Extensions.Hosting;
using EventMlOps.Agents;

using var host = await AgentsApp.BuildAsync(args);
await host.RunAsync();
