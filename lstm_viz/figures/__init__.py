"""Layer 4, Plotly figures: plain data in, `go.Figure` out, no Streamlit. `style` holds the colours, layouts and
colour ranges every view shares; one module per view. Imports analysis, runs, io and below."""
