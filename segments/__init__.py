"""segments"""
