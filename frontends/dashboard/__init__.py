"""The Streamlit monitoring dashboard (``dailyml serve dashboard``)."""
