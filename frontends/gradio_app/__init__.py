"""The Gradio app to try the models (``dailyml serve gradio``)."""
