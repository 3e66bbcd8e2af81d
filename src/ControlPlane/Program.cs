using EventMlOps.ControlPlane;

var app = await ControlPlaneApp.BuildAsync(args);
await app.RunAsync();
