using EventMlOps.ControlPlane;
using JasperFx;

// `codegen write|preview|test`: Wolverine's and Marten's generated code, for building it into a release image.
if (args is ["codegen", ..])
    return await ControlPlaneApp.Build([]).RunJasperFxCommands(args);
var app = ControlPlaneApp.Build(args);
await app.RunAsync();
return 0;
