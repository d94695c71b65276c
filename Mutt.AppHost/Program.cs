Console.WriteLine("Mutt.AppHost: not yet implemented");
