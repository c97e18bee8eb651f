

def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the real app in headless Chromium (slow, needs /usr/bin/chromium)")
