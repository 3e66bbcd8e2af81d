global using EventMlOps.Testing;
global using Shouldly;
global using Xunit;
