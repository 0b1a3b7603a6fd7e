import KefuDialogue
import PostgresNIO

/// The shared store for many `kefu serve` processes (placeholder: being built).
public enum KefuPostgresPlaceholder {}
