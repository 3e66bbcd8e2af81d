global using Shouldly;
global using Xunit;
global using EventMlOps.Testing;
