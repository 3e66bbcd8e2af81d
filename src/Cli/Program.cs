using EventMlOps.Cli;

return await EmoCli.RunAsync(args, Console.Out, Console.Error);
