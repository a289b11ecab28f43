"""The PySide6 + pyqtgraph desktop application (operator, review and audit views).

Only this package imports Qt; it displays and drives what `inspector` computes.
"""
