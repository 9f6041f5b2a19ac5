"""Plan mode (small local models): understand the message into one typed form and compile it, or, for the long tail, let the model write a checked plan."""
