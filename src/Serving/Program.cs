using EventMlOps.Serving;

var app = ServingApp.Build(args);
await app.RunAsync();
