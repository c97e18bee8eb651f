"""Layer 1, the data the tasks read: bundled series and tokenisers, the checks of every upload before anything is
parsed (uploads, csv_reading, time_column), and the in-memory store that names validated user data (datastore).
Imports only rules."""
