using EventMlOps.Training;

return TrainerProgram.Run(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable);
