using EventMlOps.Agents;
using JasperFx;

// `codegen write|preview|test`: Wolverine's generated code, for building it into a release image.
if (args is ["codegen", ..])
    return await AgentsApp.Build([]).RunJasperFxCommands(args);
await using var app = AgentsApp.Build(args);
await app.RunAsync();
return 0;
